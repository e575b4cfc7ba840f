package fns;

import org.apache.pulsar.functions.api.Function;

/** A sub-interface of Function. */
public interface MyFn<A> extends Function<A, String> {
}
