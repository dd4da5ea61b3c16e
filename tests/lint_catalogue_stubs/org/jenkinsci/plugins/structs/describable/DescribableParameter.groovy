package org.jenkinsci.plugins.structs.describable

class DescribableParameter {
    String name
    Class erasedType
    boolean required
}
