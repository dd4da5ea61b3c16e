pipeline {
    agent any
    tools {
        maven()  // <-- tools-version
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
