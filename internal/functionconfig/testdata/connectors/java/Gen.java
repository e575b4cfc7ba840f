// Gen runs Apache Pulsar 4.0.8's own SourceConfigUtils and SinkConfigUtils
// over the cases in ../cases.json and writes what the Java worker would
// store and return to ../conversion_java.golden.json. See README.md.
//
// For each case it follows SourcesImpl/SinksImpl.validateUpdateRequestParams
// (4.0.8) without a running worker: path tenant/namespace/name ("public",
// "default", "conn") override the config, Utils.inferMissingArguments, then
// validateAndExtractDetails with the case's package (validateConnectorConfig
// false, the worker default) and convert. Update cases first create
// "existing", then run validateUpdate and the "Update contains no change"
// check, then the same validation on the merged config. convertFromDetails
// gives the GET answer. A sink whose config names a transformFunction is
// validated with the case's "transformPackage" (for an update's existing
// sink, "existingTransformPackage") opened as a built-in function's package
// is (FunctionDefinition metadata). "fields <nar> <class> <out>" writes the config field
// definitions Java's ConnectorUtils gives for a config class.

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.util.JsonFormat;
import java.io.File;
import org.apache.pulsar.common.functions.FunctionDefinition;
import org.apache.pulsar.common.functions.Utils;
import org.apache.pulsar.common.io.ConnectorDefinition;
import org.apache.pulsar.common.io.SinkConfig;
import org.apache.pulsar.common.io.SourceConfig;
import org.apache.pulsar.common.util.ObjectMapperFactory;
import org.apache.pulsar.functions.proto.Function.FunctionDetails;
import org.apache.pulsar.functions.utils.FunctionFilePackage;
import org.apache.pulsar.functions.utils.SinkConfigUtils;
import org.apache.pulsar.functions.utils.SourceConfigUtils;
import org.apache.pulsar.functions.utils.io.ConnectorUtils;

public class Gen {
    static final ObjectMapper M = ObjectMapperFactory.create();

    public static void main(String[] args) throws Exception {
        if (args.length == 4 && args[0].equals("fields")) {
            try (FunctionFilePackage p = new FunctionFilePackage(new File(args[1]), "/tmp", false,
                    ConnectorDefinition.class)) {
                M.writerWithDefaultPrettyPrinter().writeValue(new File(args[3]),
                        ConnectorUtils.getConnectorConfigDefinition(p, args[2]));
            }
            return;
        }
        File base = new File(args[0]).getParentFile();
        JsonNode cases = M.readTree(new File(args[0]));
        ArrayNode out = M.createArrayNode();
        for (JsonNode c : cases) {
            ObjectNode r = out.addObject();
            r.put("name", c.get("name").asText());
            boolean source = c.get("kind").asText().equals("source");
            try {
                if (c.has("update")) {
                    FunctionDetails existing = create(source, c.get("existing"), pkg(base, c, "existingPackage"),
                            pkg(base, c, "existingTransformPackage"));
                    if (source) {
                        SourceConfig e = SourceConfigUtils.convertFromDetails(existing);
                        SourceConfig n = M.treeToValue(c.get("update"), SourceConfig.class);
                        n.setTenant("public");
                        n.setNamespace("default");
                        n.setName("conn");
                        SourceConfig merged = SourceConfigUtils.validateUpdate(e, n);
                        r.put("noChange", e.equals(merged));
                        r.set("details", details(create(true, M.valueToTree(merged), pkg(base, c, "package"), null)));
                    } else {
                        SinkConfig e = SinkConfigUtils.convertFromDetails(existing);
                        SinkConfig n = M.treeToValue(c.get("update"), SinkConfig.class);
                        n.setTenant("public");
                        n.setNamespace("default");
                        n.setName("conn");
                        SinkConfig merged = SinkConfigUtils.validateUpdate(e, n);
                        r.put("noChange", e.equals(merged));
                        r.set("details", details(create(false, M.valueToTree(merged), pkg(base, c, "package"),
                                pkg(base, c, "transformPackage"))));
                    }
                } else {
                    FunctionDetails d = create(source, c.get("config"), pkg(base, c, "package"),
                            pkg(base, c, "transformPackage"));
                    r.set("details", details(d));
                    r.set("get", M.valueToTree(source ? SourceConfigUtils.convertFromDetails(d)
                            : SinkConfigUtils.convertFromDetails(d)));
                }
            } catch (Exception e) {
                r.put("error", e.getMessage());
            }
        }
        M.writerWithDefaultPrettyPrinter().writeValue(new File(args[1]), out);
    }

    static File pkg(File base, JsonNode c, String key) {
        return c.has(key) ? new File(base, c.get(key).asText()) : null;
    }

    static JsonNode details(FunctionDetails d) throws Exception {
        return M.readTree(JsonFormat.printer().print(d));
    }

    static FunctionDetails create(boolean source, JsonNode json, File pkg, File transform) throws Exception {
        if (source) {
            SourceConfig sc = M.treeToValue(json, SourceConfig.class);
            sc.setTenant("public");
            sc.setNamespace("default");
            sc.setName("conn");
            Utils.inferMissingArguments(sc);
            if (pkg == null) {
                throw new IllegalArgumentException("Source package is not provided");
            }
            try (FunctionFilePackage p = new FunctionFilePackage(pkg, "/tmp", false, ConnectorDefinition.class)) {
                return SourceConfigUtils.convert(sc, SourceConfigUtils.validateAndExtractDetails(sc, p, false));
            }
        }
        SinkConfig sc = M.treeToValue(json, SinkConfig.class);
        sc.setTenant("public");
        sc.setNamespace("default");
        sc.setName("conn");
        Utils.inferMissingArguments(sc);
        if (pkg == null) {
            throw new IllegalArgumentException("Sink package is not provided");
        }
        // SinksImpl opens the transform package only when transformFunction is set.
        FunctionFilePackage t = sc.getTransformFunction() == null || sc.getTransformFunction().isBlank()
                || transform == null ? null
                : new FunctionFilePackage(transform, "/tmp", false, FunctionDefinition.class);
        try (FunctionFilePackage p = new FunctionFilePackage(pkg, "/tmp", false, ConnectorDefinition.class)) {
            return SinkConfigUtils.convert(sc, SinkConfigUtils.validateAndExtractDetails(sc, p, t, false));
        } finally {
            if (t != null) {
                t.close();
            }
        }
    }
}
