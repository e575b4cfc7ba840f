package fns;

/** Implements nothing a function needs. */
public class NotAFunction implements Runnable {
    @Override
    public void run() {
    }
}
