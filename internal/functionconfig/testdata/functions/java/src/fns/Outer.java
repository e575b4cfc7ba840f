package fns;

import org.apache.pulsar.functions.api.Context;
import org.apache.pulsar.functions.api.Function;

/** Holds a nested function class (binary name fns.Outer$Inner). */
public class Outer {
    /** Function<Void, Object>. */
    public static class Inner implements Function<Void, Object> {
        @Override
        public Object process(Void input, Context context) {
            return null;
        }
    }
}
