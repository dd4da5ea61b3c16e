package org.example.sample;

/** Command line of the product; the Python tests (the dtest shape) drive it as a black box. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: sample add A B | factorial N | reverse TEXT | count TEXT | version");
            System.exit(2);
        }
        switch (args[0]) {
            case "add":
                System.out.println(Calculator.add(Long.parseLong(args[1]), Long.parseLong(args[2])));
                break;
            case "factorial":
                System.out.println(Calculator.factorial(Integer.parseInt(args[1])));
                break;
            case "reverse":
                System.out.println(Words.reverse(args[1]));
                break;
            case "count":
                System.out.println(Words.count(args[1]));
                break;
            case "version":
                System.out.println("java " + System.getProperty("java.specification.version"));
                break;
            default:
                System.err.println("unknown command: " + args[0]);
                System.exit(2);
        }
    }
}
