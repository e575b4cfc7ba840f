package fns;

import java.util.Collection;

/** A plain java.util.function.Function over a Collection, used as a window function. */
public class NativeWin implements java.util.function.Function<Collection<Integer>, Long> {
    @Override
    public Long apply(Collection<Integer> input) {
        return (long) input.size();
    }
}
