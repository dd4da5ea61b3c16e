package org.jenkinsci.plugins.pipeline.modeldefinition.model

class Parameters {
    static Map<String, String> getAllowedParameterTypes() { stub.Controller.PARAMETERS }
}
