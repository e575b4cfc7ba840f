package conn;

import org.apache.pulsar.io.core.annotations.FieldDoc;

/** Fields every config of this package has. */
public class BaseConfig {
    @FieldDoc(defaultValue = "", help = "Service URL", sensitive = false)
    protected String serviceUrl;
}
