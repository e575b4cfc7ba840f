// Regenerates the golden -instance-conf arguments in this directory with the
// real Pulsar 4.0.8 worker code (RuntimeUtils.getGoInstanceCmd), so the
// fixture's conf parsing is tested against exactly what a Java worker sends.
// See README.md for how to run it.
import com.google.protobuf.util.JsonFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.apache.pulsar.functions.instance.AuthenticationConfig;
import org.apache.pulsar.functions.instance.InstanceConfig;
import org.apache.pulsar.functions.proto.Function;
import org.apache.pulsar.functions.runtime.RuntimeUtils;

public class GenGolden {
    // What `pulsar-admin functions create --go ... --inputs in --output out
    // --user-config '{"suffix":"?","crashAfterMessages":5}'` stores (defaults
    // filled in by the worker: autoAck, SHARED, cleanupSubscription, resources).
    static final String MINIMAL = "{\"tenant\":\"public\",\"namespace\":\"default\",\"name\":\"exclaim\","
        + "\"userConfig\":\"{\\\"suffix\\\":\\\"?\\\",\\\"crashAfterMessages\\\":5}\","
        + "\"autoAck\":true,\"parallelism\":1,\"runtime\":\"GO\","
        + "\"source\":{\"subscriptionType\":\"SHARED\",\"inputSpecs\":{\"persistent://public/default/in\":{}},"
        + "\"cleanupSubscription\":true},"
        + "\"sink\":{\"topic\":\"persistent://public/default/out\",\"forwardSourceMessageProperty\":true},"
        + "\"resources\":{\"cpu\":1.0,\"ram\":\"1073741824\",\"disk\":\"10737418240\"},"
        + "\"componentType\":\"FUNCTION\"}";

    // Most knobs set: failover, custom subscription, EARLIEST, a regex input
    // and one with a receiver queue size, retry details, log topic, secrets.
    static String full(String guarantees, boolean autoAck) {
        return "{\"tenant\":\"t1\",\"namespace\":\"ns1\",\"name\":\"fn\",\"logTopic\":\"persistent://t1/ns1/fn-log\","
            + "\"processingGuarantees\":\"" + guarantees + "\",\"secretsMap\":\"{\\\"pw\\\":\\\"k\\\"}\","
            + "\"userConfig\":\"{\\\"allocateMiB\\\":64,\\\"crashAfterSeconds\\\":\\\"2.5\\\"}\","
            + "\"autoAck\":" + autoAck + ",\"parallelism\":3,\"runtime\":\"GO\","
            + "\"source\":{\"subscriptionType\":\"FAILOVER\",\"timeoutMs\":\"30000\",\"subscriptionName\":\"my-sub\","
            + "\"inputSpecs\":{\"persistent://t1/ns1/a\":{\"schemaType\":\"STRING\",\"receiverQueueSize\":{\"value\":50}},"
            + "\"persistent://t1/ns1/b.*\":{\"isRegexPattern\":true}},\"subscriptionPosition\":\"EARLIEST\"},"
            + "\"sink\":{\"topic\":\"persistent://t1/ns1/out\",\"schemaType\":\"STRING\"},"
            + "\"resources\":{\"cpu\":0.5,\"ram\":\"268435456\",\"disk\":\"1073741824\"},"
            + "\"retryDetails\":{\"maxMessageRetries\":4,\"deadLetterTopic\":\"persistent://t1/ns1/dlq\"},"
            + "\"componentType\":\"FUNCTION\"}";
    }

    public static void main(String[] a) throws Exception {
        Path out = Paths.get(a.length > 0 ? a[0] : ".");
        AuthenticationConfig auth = AuthenticationConfig.builder()
            .clientAuthenticationPlugin("org.apache.pulsar.client.impl.auth.AuthenticationToken")
            .clientAuthenticationParameters("token:abc").tlsTrustCertsFilePath("/etc/ca.pem")
            .tlsAllowInsecureConnection(true).tlsHostnameVerificationEnable(false).useTls(true).build();
        gen(out.resolve("java-worker-process.json"), MINIMAL, 0, null, null, false, false);
        gen(out.resolve("java-worker-process-full.json"), full("ATLEAST_ONCE", true), 2, auth,
            "bk://127.0.0.1:4181", true, false);
        gen(out.resolve("java-worker-manual.json"), full("MANUAL", false), 1, null, null, false, false);
        gen(out.resolve("java-worker-effectively-once.json"), full("EFFECTIVELY_ONCE", true), 0, null, null, false, false);
        gen(out.resolve("java-worker-atleast-once-no-autoack.json"), full("ATLEAST_ONCE", false), 0, null, null, false, false);
        gen(out.resolve("java-worker-kubernetes.arg"), MINIMAL, 1, null, null, false, true);
    }

    static void gen(Path p, String fdJson, int id, AuthenticationConfig auth, String state, boolean admin,
                    boolean k8s) throws Exception {
        Function.FunctionDetails.Builder b = Function.FunctionDetails.newBuilder();
        JsonFormat.parser().merge(fdJson, b);
        InstanceConfig ic = new InstanceConfig();
        ic.setFunctionDetails(b.build());
        ic.setInstanceId(id);
        ic.setFunctionId("0b5a0c3e-6f0e-4a55-9d51-3b2f4c8f6a11");
        ic.setFunctionVersion("7d3c1f2a-1111-4c2b-8e4e-2a9f0d6b5c22");
        ic.setMaxBufferedTuples(1024);
        ic.setPort(40001);
        ic.setMetricsPort(40002);
        ic.setClusterName("standalone");
        ic.setExposePulsarAdminClientEnabled(admin);
        List<String> cmd = RuntimeUtils.getGoInstanceCmd(ic, auth, "/tmp/download/fn/0/fn",
            "pulsar://127.0.0.1:6650", state, "http://127.0.0.1:8080", k8s);
        if (cmd.size() != 3 || !cmd.get(1).equals("-instance-conf")) {
            throw new RuntimeException("unexpected argv " + cmd);
        }
        Files.writeString(p, cmd.get(2) + "\n");
    }
}
