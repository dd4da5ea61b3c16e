pipeline {
    agent any
    tools {
        maven 'maven-3.9'
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
