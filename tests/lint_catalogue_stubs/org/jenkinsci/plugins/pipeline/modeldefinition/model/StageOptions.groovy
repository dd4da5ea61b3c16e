package org.jenkinsci.plugins.pipeline.modeldefinition.model

class StageOptions {
    static Map<String, String> getAllowedOptionTypes() { stub.Controller.OPTIONS.findAll { it.key in stub.Controller.STAGE_OPTIONS } }
}
