package org.example.sample;

import java.util.Locale;

/** String helpers of the product. */
public final class Words {
    private Words() {}

    public static String reverse(String text) {
        return new StringBuilder(text).reverse().toString();
    }

    public static int count(String text) {
        String trimmed = text.trim();
        return trimmed.isEmpty() ? 0 : trimmed.split("\\s+").length;
    }

    public static String shout(String text) {
        return text.toUpperCase(Locale.ROOT) + "!";
    }
}
