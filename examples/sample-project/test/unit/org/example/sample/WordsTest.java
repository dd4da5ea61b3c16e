package org.example.sample;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class WordsTest {
    @Test
    public void reverses() {
        assertEquals("olleh", Words.reverse("hello"));
    }

    @Test
    public void countsWords() {
        assertEquals(3, Words.count("  one two   three "));
        assertEquals(0, Words.count("   "));
    }

    @Test
    public void shouts() {
        assertEquals("HI!", Words.shout("hi"));
    }
}
