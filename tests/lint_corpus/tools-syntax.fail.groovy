pipeline {
    agent any
    tools {
        maven  // <-- tools-syntax
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
