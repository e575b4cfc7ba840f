package conn;

import java.util.Map;
import org.apache.pulsar.functions.api.Record;
import org.apache.pulsar.io.core.Sink;
import org.apache.pulsar.io.core.SinkContext;

/** A Sink of Integers. */
public class IntSink implements Sink<Integer> {
    public void open(Map<String, Object> config, SinkContext ctx) {}
    public void write(Record<Integer> r) {}
    public void close() {}
}
