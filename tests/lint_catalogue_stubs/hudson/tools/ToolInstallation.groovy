package hudson.tools

class ToolInstallation {
    static class Named { String name }
    static class Descriptor {
        String id
        String getId() { id }
        List<Named> getInstallations() { stub.Controller.INSTALLATIONS[id].collect { new Named(name: it) } }
    }
    static List<Descriptor> all() { stub.Controller.INSTALLATIONS.keySet().collect { new Descriptor(id: it) } }
}
