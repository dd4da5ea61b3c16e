package org.jenkinsci.plugins.pipeline.modeldefinition.model

class Triggers {
    static Map<String, String> getAllowedTriggerTypes() { stub.Controller.TRIGGERS }
}
