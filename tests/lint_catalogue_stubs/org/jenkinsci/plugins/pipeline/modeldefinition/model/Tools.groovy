package org.jenkinsci.plugins.pipeline.modeldefinition.model

class Tools {
    static Map<String, String> getAllowedToolTypes() { stub.Controller.TOOLS }
}
