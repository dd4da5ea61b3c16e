pipeline {
    agent any
    tools {
        jdk 'jdk17'
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
