package fns;

/** java.util.function.Function<String, Integer>. */
public class NativeLen implements java.util.function.Function<String, Integer> {
    @Override
    public Integer apply(String s) {
        return s.length();
    }
}
