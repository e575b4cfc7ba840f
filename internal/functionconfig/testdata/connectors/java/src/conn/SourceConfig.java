package conn;

import java.util.List;
import org.apache.pulsar.io.core.annotations.FieldDoc;

/** The config class of StringSource. */
public class SourceConfig extends BaseConfig {
    private static final long serialVersionUID = 1L;

    @FieldDoc(required = true, defaultValue = "50", help = "Milliseconds between records")
    private long intervalMs = 50;

    @FieldDoc(required = false, defaultValue = "", sensitive = true, help = "The password")
    private String password;

    private int undocumented;

    @FieldDoc(defaultValue = "", help = "Topics")
    private List<String> topics;

    private String[] names;
}
