// expect: groovy-syntax
pipeline {
    agent any
    stages {
        stage('a') {
            steps { echo 'x' }
        }
    }
