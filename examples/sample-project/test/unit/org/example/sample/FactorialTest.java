package org.example.sample;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class FactorialTest {
    @Test
    public void factorialOfZeroIsOne() {
        assertEquals(1, Calculator.factorial(0));
    }

    @Test
    public void factorialOfTwenty() {
        assertEquals(2432902008176640000L, Calculator.factorial(20));
    }

    @Test(expected = IllegalArgumentException.class)
    public void negativeIsRejected() {
        Calculator.factorial(-1);
    }
}
