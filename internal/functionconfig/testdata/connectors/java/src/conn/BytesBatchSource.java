package conn;

import java.util.Map;
import org.apache.pulsar.functions.api.Record;
import org.apache.pulsar.io.core.BatchSource;
import org.apache.pulsar.io.core.SourceContext;

/** A BatchSource of byte arrays. */
public class BytesBatchSource implements BatchSource<byte[]> {
    public void open(Map<String, Object> config, SourceContext ctx) {}
    public void discover(java.util.function.Consumer<byte[]> taskEater) {}
    public void prepare(byte[] task) {}
    public Record<byte[]> readNext() { return null; }
    public void close() {}
}
