package org.jenkinsci.plugins.pipeline.modeldefinition.when

class DeclarativeStageConditionalDescriptor {
    String symbol
    Object clazz
    int children
    int getAllowedChildrenCount() { children }
    static List<DeclarativeStageConditionalDescriptor> all() {
        stub.Controller.WHEN.collect { k, v -> new DeclarativeStageConditionalDescriptor(symbol: k, clazz: "when:${k}", children: v) }
    }
}
