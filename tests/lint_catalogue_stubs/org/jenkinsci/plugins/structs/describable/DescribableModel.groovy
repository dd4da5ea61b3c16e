package org.jenkinsci.plugins.structs.describable

import stub.Controller

class DescribableModel {
    List<DescribableParameter> parameters
    // Real: new DescribableModel(Class); here the "class" is the stand-in's model key.
    DescribableModel(Object key) {
        List spec = Controller.MODELS[key.toString()]
        if (spec == null) throw new IllegalArgumentException("no model for ${key}")
        parameters = spec.collect { new DescribableParameter(name: it[0], erasedType: it[1], required: it[2]) }
    }
}
