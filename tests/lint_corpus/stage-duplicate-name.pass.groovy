pipeline {
    agent any
    stages {
        stage('a') { steps { echo 'x' } }
        stage('b') { steps { echo 'y' } }
    }
}
