// Writes the FileDescriptorProtos embedded in BookKeeper's stream storage
// proto classes (the jar Apache Pulsar 4.0.8 ships) to <outdir>/<file>.desc.
// Run with: java -cp "$PULSAR_HOME/lib/*" DumpDescriptors.java <outdir>
import com.google.protobuf.Descriptors.FileDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;

public class DumpDescriptors {
    public static void main(String[] args) throws Exception {
        FileDescriptor[] files = {
            org.apache.bookkeeper.stream.proto.Stream.getDescriptor(),
            org.apache.bookkeeper.stream.proto.storage.Storage.getDescriptor(),
            org.apache.bookkeeper.stream.proto.kv.Kv.getDescriptor(),
            org.apache.bookkeeper.stream.proto.kv.rpc.KvRpc.getDescriptor(),
        };
        for (FileDescriptor f : files) {
            Path out = Path.of(args[0], f.getName().replace(".proto", ".desc"));
            Files.write(out, f.toProto().toByteArray());
            System.out.println(out);
        }
    }
}
