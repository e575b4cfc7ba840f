package fns;

import java.util.List;
import org.apache.pulsar.functions.api.Context;
import org.apache.pulsar.functions.api.Function;

/** Unbound type variables and parameterized types. */
public class GenericFn<T extends Number> implements Function<T, List<String>> {
    @Override
    public List<String> process(T input, Context context) {
        return null;
    }
}
