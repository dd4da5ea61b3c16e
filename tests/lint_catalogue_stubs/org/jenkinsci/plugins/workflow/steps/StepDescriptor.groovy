package org.jenkinsci.plugins.workflow.steps

class StepDescriptor {
    String functionName
    boolean block
    boolean takesImplicitBlockArgument() { block }
    static List<StepDescriptor> all() { stub.Controller.STEPS.collect { new StepDescriptor(functionName: it[0], block: it[1]) } }
}
