package org.jenkinsci.plugins.pipeline.modeldefinition.model

class Options {
    static Map<String, String> getAllowedOptionTypes() { stub.Controller.OPTIONS }
}
