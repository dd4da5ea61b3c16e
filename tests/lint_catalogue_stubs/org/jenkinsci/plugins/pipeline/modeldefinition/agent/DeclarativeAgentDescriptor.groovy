package org.jenkinsci.plugins.pipeline.modeldefinition.agent

class DeclarativeAgentDescriptor {
    String symbol
    Object clazz
    static List<DeclarativeAgentDescriptor> all() {
        stub.Controller.AGENTS.collect { new DeclarativeAgentDescriptor(symbol: it, clazz: it in ['any', 'none'] ? 'timestamps' : "agent:${it}") }
    }
}
