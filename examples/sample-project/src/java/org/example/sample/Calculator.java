package org.example.sample;

/** The product under test: a tiny calculator. */
public final class Calculator {
    private Calculator() {}

    public static long add(long a, long b) {
        return Math.addExact(a, b);
    }

    public static long multiply(long a, long b) {
        return Math.multiplyExact(a, b);
    }

    public static long factorial(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("factorial of a negative number: " + n);
        }
        long result = 1;
        for (int i = 2; i <= n; i++) {
            result = multiply(result, i);
        }
        return result;
    }
}
