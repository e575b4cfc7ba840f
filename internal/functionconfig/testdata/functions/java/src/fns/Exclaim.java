package fns;

import org.apache.pulsar.functions.api.Context;
import org.apache.pulsar.functions.api.Function;

/** Pulsar Function<String, String>. */
public class Exclaim implements Function<String, String> {
    @Override
    public String process(String input, Context context) {
        return input + "!";
    }
}
