pipeline {
    agent any
    stages {
        stage('name') {
            steps { echo 'x' }
        }
    }
}
