package fns;

/** Extends Base<Long>; the interface is declared on the superclass. */
public class Derived extends Base<Long> {
}
