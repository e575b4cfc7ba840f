// Produces the Java-side golden files from the Apache Pulsar 4.0.8 classes.
// usage: java -cp <4.0.8 jars>:. Golden SAMPLES_DIR TESTDATA_DIR
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.pulsar.functions.proto.Function;
import org.apache.pulsar.functions.proto.InstanceCommunication;
import org.apache.pulsar.functions.proto.Request;

public class Golden {
  public static void main(String[] args) throws Exception {
    Path samples = Path.of(args[0]);
    Path out = Path.of(args[1]);
    Files.createDirectories(out.resolve("java"));
    Files.createDirectories(out.resolve("json"));
    Files.createDirectories(out.resolve("wire"));

    Files.write(out.resolve("java/Function.desc"), Function.getDescriptor().toProto().toByteArray());
    Files.write(out.resolve("java/InstanceCommunication.desc"),
        InstanceCommunication.getDescriptor().toProto().toByteArray());
    Files.write(out.resolve("java/Request.desc"), Request.getDescriptor().toProto().toByteArray());

    // The printer the 4.0.8 Java worker uses for --function_details.
    JsonFormat.Printer printer = JsonFormat.printer().omittingInsignificantWhitespace();
    Function.FunctionDetails details =
        Function.FunctionDetails.parseFrom(Files.readAllBytes(samples.resolve("FunctionDetails.java.bin")));
    String json = printer.print(details);
    Files.writeString(out.resolve("json/FunctionDetails.java.json"), json + "\n");
    // Fields unknown to the 4.0.8 classes are dropped from JSON.
    Function.FunctionDetails full =
        Function.FunctionDetails.parseFrom(Files.readAllBytes(samples.resolve("FunctionDetails.bin")));
    if (!printer.print(full).equals(json)) {
      throw new IllegalStateException("expected unknown fields to be left out of the JSON");
    }
    InstanceCommunication.MetricsData metrics =
        InstanceCommunication.MetricsData.parseFrom(Files.readAllBytes(samples.resolve("MetricsData.bin")));
    Files.writeString(out.resolve("json/MetricsData.java.json"), printer.print(metrics) + "\n");

    reserialize(Function.FunctionMetaData.parser(), samples, out, "FunctionMetaData");
    reserialize(Function.Assignment.parser(), samples, out, "Assignment");
    reserialize(Request.ServiceRequest.parser(), samples, out, "ServiceRequest");
  }

  static void reserialize(com.google.protobuf.Parser<? extends Message> parser, Path samples, Path out, String name)
      throws Exception {
    Message m = parser.parseFrom(Files.readAllBytes(samples.resolve(name + ".bin")));
    if (!m.getUnknownFields().asMap().isEmpty()) {
      throw new IllegalStateException(name + ": sample has fields unknown to 4.0.8");
    }
    Files.write(out.resolve("wire/" + name + ".java.bin"), m.toByteArray());
  }
}
