// Gen runs Apache Pulsar 4.0.8's own FunctionConfigUtils over the cases in
// ../conversion_cases.json and writes what the Java worker would store and
// return to the golden file ../conversion_java.golden.json. See README.md.
//
// For each case it follows FunctionsImpl (4.0.8) without a running worker:
// path tenant/namespace/name override the config, inferMissingArguments
// (forwardSourceMessageProperty = true, the worker default), then
// validateJavaFunction + convert(config, extracted) for JAVA with the
// case's package, or validateNonJavaFunction + convert(config) otherwise.
// Update cases first create "existing", then run validateUpdate and the
// "Update contains no change" check, then the same validation on the
// merged config. convertFromDetails gives the GET answer.

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.util.JsonFormat;
import java.io.File;
import java.util.Iterator;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.apache.pulsar.common.functions.FunctionConfig;
import org.apache.pulsar.common.functions.FunctionDefinition;
import org.apache.pulsar.common.util.ObjectMapperFactory;
import org.apache.pulsar.functions.proto.Function.FunctionDetails;
import org.apache.pulsar.functions.utils.FunctionCommon;
import org.apache.pulsar.functions.utils.FunctionConfigUtils;
import org.apache.pulsar.functions.utils.FunctionFilePackage;
import net.bytebuddy.description.type.TypeDefinition;

public class Gen {
    static final ObjectMapper M = ObjectMapperFactory.create();

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("typeargs")) {
            typeArgs(new File(args[1]), new File(args[2]));
            return;
        }
        File base = new File(args[0]).getParentFile();
        JsonNode cases = M.readTree(new File(args[0]));
        ArrayNode out = M.createArrayNode();
        for (JsonNode c : cases) {
            ObjectNode r = out.addObject();
            r.put("name", c.get("name").asText());
            try {
                if (c.has("update")) {
                    FunctionDetails existing = create(c.get("existing"), pkg(base, c, "existingPackage"));
                    FunctionConfig existingConfig = FunctionConfigUtils.convertFromDetails(existing);
                    FunctionConfig newConfig = M.treeToValue(c.get("update"), FunctionConfig.class);
                    newConfig.setTenant("public");
                    newConfig.setNamespace("default");
                    newConfig.setName("fn");
                    FunctionConfig merged = FunctionConfigUtils.validateUpdate(existingConfig, newConfig);
                    boolean noChange = existingConfig.equals(merged);
                    r.put("noChange", noChange);
                    r.set("details", details(create(M.valueToTree(merged), pkg(base, c, "package"))));
                } else {
                    FunctionDetails d = create(c.get("config"), pkg(base, c, "package"));
                    r.set("details", details(d));
                    r.set("get", M.valueToTree(FunctionConfigUtils.convertFromDetails(d)));
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

    static FunctionDetails create(JsonNode json, File pkg) throws Exception {
        FunctionConfig fc = M.treeToValue(json, FunctionConfig.class);
        fc.setTenant("public");
        fc.setNamespace("default");
        fc.setName("fn");
        FunctionConfigUtils.inferMissingArguments(fc, true);
        if (fc.getRuntime() == FunctionConfig.Runtime.JAVA) {
            if (pkg == null) {
                throw new IllegalArgumentException("Function package is not provided");
            }
            try (FunctionFilePackage p = new FunctionFilePackage(pkg, "/tmp", false, FunctionDefinition.class)) {
                return FunctionConfigUtils.convert(fc, FunctionConfigUtils.validateJavaFunction(fc, p));
            }
        }
        FunctionConfigUtils.validateNonJavaFunction(fc);
        return FunctionConfigUtils.convert(fc);
    }

    // typeargs <jar> <out>: the type arguments the worker extracts for every
    // class of the jar, without and with a window config.
    static void typeArgs(File jar, File outFile) throws Exception {
        ObjectNode out = M.createObjectNode();
        try (FunctionFilePackage p = new FunctionFilePackage(jar, "/tmp", false, FunctionDefinition.class);
             ZipFile z = new ZipFile(jar)) {
            for (Iterator<? extends ZipEntry> it = z.entries().asIterator(); it.hasNext(); ) {
                String n = it.next().getName();
                if (!n.endsWith(".class") || n.endsWith("package-info.class")) {
                    continue;
                }
                String cls = n.substring(0, n.length() - 6).replace('/', '.');
                ObjectNode r = out.putObject(cls);
                for (boolean window : new boolean[] {false, true}) {
                    String key = window ? "window" : "plain";
                    try {
                        FunctionConfig fc = new FunctionConfig();
                        fc.setClassName(cls);
                        if (window) {
                            fc.setWindowConfig(new org.apache.pulsar.common.functions.WindowConfig());
                        }
                        FunctionConfigUtils.ExtractedFunctionDetails e = FunctionConfigUtils.doJavaChecks(fc, p);
                        r.put(key, e.getTypeArg0() + " -> " + e.getTypeArg1());
                    } catch (Throwable e) {
                        r.put(key, "error: " + e.getMessage());
                    }
                }
            }
        }
        M.writerWithDefaultPrettyPrinter().writeValue(outFile, out);
    }
}
