package fns;

import java.util.Collection;
import org.apache.pulsar.functions.api.Record;
import org.apache.pulsar.functions.api.WindowContext;
import org.apache.pulsar.functions.api.WindowFunction;

/** WindowFunction<String, Integer>. */
public class Win implements WindowFunction<String, Integer> {
    @Override
    public Integer process(Collection<Record<String>> input, WindowContext context) {
        return input.size();
    }
}
