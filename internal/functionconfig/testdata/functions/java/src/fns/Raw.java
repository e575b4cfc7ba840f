package fns;

import org.apache.pulsar.functions.api.Context;
import org.apache.pulsar.functions.api.Function;

/** Raw Function: no type arguments. */
@SuppressWarnings("rawtypes")
public class Raw implements Function {
    @Override
    public Object process(Object input, Context context) {
        return input;
    }
}
