package fns;

import java.util.concurrent.CompletableFuture;
import org.apache.pulsar.functions.api.Context;
import org.apache.pulsar.functions.api.Function;

/** Output wrapped in CompletableFuture: the worker unwraps it. */
public class Async implements Function<int[], CompletableFuture<String>> {
    @Override
    public CompletableFuture<String> process(int[] input, Context context) {
        return CompletableFuture.completedFuture("x");
    }
}
