package fns;

import java.util.Map;
import org.apache.pulsar.client.api.CryptoKeyReader;
import org.apache.pulsar.client.api.EncryptionKeyInfo;

/** A CryptoKeyReader with the Map constructor the worker requires. */
public class Keys implements CryptoKeyReader {
    public Keys(Map<String, Object> conf) {
    }

    @Override
    public EncryptionKeyInfo getPublicKey(String keyName, Map<String, String> metadata) {
        return null;
    }

    @Override
    public EncryptionKeyInfo getPrivateKey(String keyName, Map<String, String> metadata) {
        return null;
    }
}
