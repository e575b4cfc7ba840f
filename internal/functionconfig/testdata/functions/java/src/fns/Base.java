package fns;

import org.apache.pulsar.functions.api.Context;
import org.apache.pulsar.functions.api.Function;

/** Generic base: the subclass binds T. */
public abstract class Base<T> implements Function<T, byte[]> {
    @Override
    public byte[] process(T input, Context context) {
        return String.valueOf(input).getBytes();
    }
}
