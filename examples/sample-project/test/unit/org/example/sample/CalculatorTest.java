package org.example.sample;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class CalculatorTest {
    @Test
    public void addsSmallNumbers() {
        assertEquals(5, Calculator.add(2, 3));
    }

    @Test
    public void multiplies() {
        assertEquals(42, Calculator.multiply(6, 7));
    }

    @Test(expected = ArithmeticException.class)
    public void overflowIsAnError() {
        Calculator.add(Long.MAX_VALUE, 1);
    }
}
