pipeline {
    agent any
    stages {
        stage('build') {
            agent any  // <-- nested-agent-tools
            parallel {
                stage('p') { steps { echo 'x' } }
            }
        }
    }
}
