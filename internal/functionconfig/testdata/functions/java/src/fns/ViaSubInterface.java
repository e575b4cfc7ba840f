package fns;

import org.apache.pulsar.functions.api.Context;

/** Implements Function through MyFn<Short>. */
public class ViaSubInterface implements MyFn<Short> {
    @Override
    public String process(Short input, Context context) {
        return "";
    }
}
