package conn;

import java.util.Map;
import org.apache.pulsar.functions.api.Record;
import org.apache.pulsar.io.core.Source;
import org.apache.pulsar.io.core.SourceContext;

/** A Source of Strings. */
public class StringSource implements Source<String> {
    public void open(Map<String, Object> config, SourceContext ctx) {}
    public Record<String> read() { return null; }
    public void close() {}
}
