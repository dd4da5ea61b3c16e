package org.example.sample;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** The deliberately slow test: a few seconds, so that split balancing and timeouts have something to work on. */
public class SlowTest {
    @Test
    public void slowFactorialLoop() throws InterruptedException {
        long millis = Long.parseLong(System.getenv().getOrDefault("SAMPLE_SLOW_MILLIS", "3000"));
        Thread.sleep(millis);
        assertEquals(120, Calculator.factorial(5));
    }
}
