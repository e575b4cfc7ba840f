package fns;

import org.apache.pulsar.functions.api.SerDe;

/** SerDe<String>. */
public class StrSerde implements SerDe<String> {
    @Override
    public String deserialize(byte[] input) {
        return new String(input);
    }

    @Override
    public byte[] serialize(String input) {
        return input.getBytes();
    }
}
