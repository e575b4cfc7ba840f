package fns;

import org.apache.pulsar.functions.api.Context;
import org.apache.pulsar.functions.api.Function;
import org.apache.pulsar.functions.api.Record;

/** Output wrapped in Record: the worker unwraps it. */
public class Records implements Function<String, Record<Double>> {
    @Override
    public Record<Double> process(String input, Context context) {
        return null;
    }
}
