import com.google.protobuf.util.JsonFormat;
import java.nio.file.*;
import java.util.*;
import org.apache.pulsar.functions.instance.InstanceConfig;
import org.apache.pulsar.functions.instance.AuthenticationConfig;
import org.apache.pulsar.functions.proto.Function;
import org.apache.pulsar.functions.runtime.RuntimeUtils;

// args: detailsJsonFile instanceId auth(0/1) out [transformFunctionJar]
public class Ref {
  public static void main(String[] a) throws Exception {
    Function.FunctionDetails.Builder b = Function.FunctionDetails.newBuilder();
    JsonFormat.parser().merge(new String(Files.readAllBytes(Paths.get(a[0]))), b);
    Function.FunctionDetails fd = b.build();
    InstanceConfig ic = new InstanceConfig();
    ic.setFunctionDetails(fd);
    ic.setFunctionId("11111111-2222-4333-8444-555555555555");
    ic.setFunctionVersion("66666666-7777-4888-9999-aaaaaaaaaaaa");
    ic.setTransformFunctionId("bbbbbbbb-cccc-4ddd-8eee-ffffffffffff");
    String transform = a.length > 4 ? a[4] : null;
    ic.setInstanceId(Integer.parseInt(a[1]));
    ic.setMaxBufferedTuples(1024);
    ic.setPort(40001);
    ic.setMetricsPort(40002);
    ic.setClusterName("standalone");
    ic.setMaxPendingAsyncRequests(1000);
    ic.setExposePulsarAdminClientEnabled(a[2].equals("1"));
    ic.setAdditionalJavaRuntimeArguments(Arrays.asList("-XX:+ExitOnOutOfMemoryError"));
    ic.setIgnoreUnknownConfigFields(a[2].equals("1"));
    AuthenticationConfig auth = null;
    if (a[2].equals("1")) {
      auth = AuthenticationConfig.builder().clientAuthenticationPlugin("org.apache.pulsar.client.impl.auth.AuthenticationToken")
        .clientAuthenticationParameters("token:abc").useTls(true).tlsAllowInsecureConnection(false)
        .tlsHostnameVerificationEnable(true).tlsTrustCertsFilePath("/etc/ca.pem").build();
    }
    boolean java = fd.getRuntime() == Function.FunctionDetails.Runtime.JAVA;
    boolean py = fd.getRuntime() == Function.FunctionDetails.Runtime.PYTHON;
    String instanceFile = java ? "/opt/pulsar/instances/java-instance.jar" : "/opt/pulsar/instances/python-instance/python_instance_main.py";
    String code = java ? "/dl/public/default/fn/0/fn.jar" : py ? "/dl/public/default/fn/0/fn.py" : "/dl/public/default/fn/0/fn";
    List<String> cmd = RuntimeUtils.getCmd(ic, instanceFile, java ? "/opt/pulsar/instances/deps" : null, "/var/log/pulsar/functions",
      code, transform, "pulsar://localhost:6650", a[2].equals("1") ? "bk://localhost:4181" : null, auth, a[1], 40001, 30L,
      java ? "/opt/pulsar/conf/functions_log4j2.xml" : "/opt/pulsar/conf/functions-logging/logging_config.ini",
      java ? "org.apache.pulsar.functions.secretsprovider.ClearTextSecretsProvider" : py ? "secretsprovider.ClearTextSecretsProvider" : "",
      null, false, null, null, "/tmp", "/opt/pulsar/conf:/opt/pulsar/lib/*", false, "http://localhost:8080");
    StringBuilder sb = new StringBuilder();
    for (String s : cmd) sb.append(s).append("\n");
    Files.write(Paths.get(a[3]), sb.toString().getBytes("UTF-8"));
  }
}
