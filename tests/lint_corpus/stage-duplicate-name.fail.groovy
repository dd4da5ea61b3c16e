pipeline {
    agent any
    stages {
        stage('a') { steps { echo 'x' } }
        stage('a') { steps { echo 'y' } }  // <-- stage-duplicate-name
    }
}
